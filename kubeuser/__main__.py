"""``python -m kubeuser``."""

from kubeuser.cli import main

if __name__ == "__main__":
    main()
