"""The SM-DP+ over HTTPS: the ASGI app (Starlette) and the uvicorn server with client certificates."""
