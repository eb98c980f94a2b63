"""``python -m kubeuser``."""

from kubeuser.entry import main

if __name__ == "__main__":
    main()
