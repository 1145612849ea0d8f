"""Wire formats shared by clients and servers: pure codecs, no I/O (es9: the ES9+/ES11 JSON binding)."""
