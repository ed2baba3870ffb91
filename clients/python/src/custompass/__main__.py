from custompass.cli import main

raise SystemExit(main())
