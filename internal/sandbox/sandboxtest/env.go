package sandboxtest

import "os"

func skipServers() bool { return os.Getenv("DBSHIFT_SKIP_SERVERS") == "1" }
