"""kubeuser: X.509 user onboarding for Kubernetes."""

__version__ = "0.1.0"
