"""delivery-platform: Pulumi components for a container delivery platform on GKE."""
