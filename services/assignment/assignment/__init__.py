"""The assignment service: decides which consultant works each lead."""
