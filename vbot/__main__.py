from vbot.main import main

if __name__ == "__main__":  # guarded: process-pool children import this module
    raise SystemExit(main())
