"""ES12 (SM-DP+ -> SM-DS) and ES15 (SM-DS -> SM-DS) calls: a client both servers use, so neither imports the other."""
