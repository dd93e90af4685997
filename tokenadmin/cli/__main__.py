from tokenadmin.cli.main import main

raise SystemExit(main())
