"""Evaluation of night→day enhancement (Table 3.5) against floors that ignore the input, on two test sets."""
