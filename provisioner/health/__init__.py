"""The readiness check and the reports made from its history."""
