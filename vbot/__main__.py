from vbot.main import main

raise SystemExit(main())
