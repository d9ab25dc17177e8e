"""The leads service: the system of record for consultants, leads and their history."""
