module github.com/dbshift/dbshift

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.1.2
	github.com/alecthomas/kong v1.12.1
	github.com/go-sql-driver/mysql v1.9.3
	golang.org/x/term v0.37.0
)

require (
	filippo.io/edwards25519 v1.1.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
