module github.com/dbshift/dbshift

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.1.2
	github.com/alecthomas/kong v1.12.1
	github.com/go-sql-driver/mysql v1.9.3
	github.com/schollz/progressbar/v3 v3.19.0
	golang.org/x/term v0.37.0
)

require (
	filippo.io/edwards25519 v1.1.0 // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
