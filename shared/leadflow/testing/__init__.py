"""Test support shared by every service's tests: real services, isolated per test."""
