"""The device test lab: campaigns of cases (scripted SM-DP+ behaviour + the outcome a conformant LPA
must produce) run against a device under test (DUT), with JSON, HTML and JUnit reports."""
