from bridge.launch import main

raise SystemExit(main())
