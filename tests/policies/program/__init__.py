"""A Pulumi program for checking the policy pack through the real engine."""
