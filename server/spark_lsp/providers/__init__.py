"""Model providers behind one small streaming interface; they hide the wire."""
