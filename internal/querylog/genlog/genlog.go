// Package genlog writes synthetic general query logs for benchmarks and
// tests: many interleaved connections with connects, session settings,
// default-database changes, one-line and multi-line statements, and quits.
package genlog

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// Form is the general-log dialect to write.
type Form int

const (
	// ISO is MySQL 5.7+/8.x: an ISO-8601 stamp on every entry.
	ISO Form = iota
	// MariaDB is MariaDB and MySQL <= 5.6: "YYMMDD HH:MM:SS" only when the
	// second changes.
	MariaDB
)

// Mix is which statements the log holds.
type Mix int

const (
	// Mixed is point selects, ranges, multi-line joins, updates and SETs.
	Mixed Mix = iota
	// PointSelects is only "SELECT c FROM sbtest1 WHERE id=N" on database
	// sbtest, the statement sysbench and mariadb-slap can run too.
	PointSelects
)

// Options describes the log to write.
type Options struct {
	Size  int64 // stop after at least this many bytes
	Form  Form
	Mix   Mix
	Conns int // concurrent connections interleaved in the log (default 32)
	Rows  int // ids are drawn from 1..Rows (default 10000)
	Seed  uint64
	Start time.Time
	// Gap is the time between consecutive entries (default 100µs).
	Gap time.Duration
}

// Write writes the log and returns the number of bytes and statements.
func Write(w io.Writer, o Options) (bytes int64, statements int64, err error) {
	if o.Conns <= 0 {
		o.Conns = 32
	}
	if o.Rows <= 0 {
		o.Rows = 10000
	}
	if o.Gap <= 0 {
		o.Gap = 100 * time.Microsecond
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	g := &gen{o: o, w: cw, rng: rng, now: o.Start, open: make([]bool, o.Conns), ids: make([]uint64, o.Conns)}
	if o.Form == ISO {
		fmt.Fprintf(cw, "/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:\nTcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\nTime                 Id Command    Argument\n")
	} else {
		fmt.Fprintf(cw, "/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-log (Debian 12). started with:\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n")
	}
	next := uint64(100)
	for cw.n < o.Size && cw.err == nil {
		c := rng.IntN(o.Conns)
		if !g.open[c] {
			next++
			g.ids[c], g.open[c] = next, true
			db := "shop"
			if o.Mix == PointSelects {
				db = "sbtest"
			}
			g.entry(g.ids[c], "Connect", "app@10.0.0."+fmt.Sprint(c+1)+" on "+db+" using TCP/IP")
			if o.Mix == Mixed {
				g.entry(g.ids[c], "Query", "SET NAMES utf8mb4")
				statements++
			}
			continue
		}
		id := g.ids[c]
		n := rng.IntN(o.Rows) + 1
		if o.Mix == PointSelects {
			g.entry(id, "Query", fmt.Sprintf("SELECT c FROM sbtest1 WHERE id=%d", n))
			statements++
			if rng.IntN(5000) == 0 {
				g.entry(id, "Quit", "")
				g.open[c] = false
			}
			continue
		}
		switch k := rng.IntN(100); {
		case k < 60:
			g.entry(id, "Query", fmt.Sprintf("SELECT id, name, balance FROM accounts WHERE id = %d", n))
		case k < 75:
			g.entry(id, "Query", fmt.Sprintf("SELECT o.id, o.total, c.name\n  FROM orders o\n  JOIN customers c ON c.id = o.customer_id\n WHERE o.created_at >= '2024-02-%02d 00:00:00'\n ORDER BY o.id\n LIMIT 50", n%28+1))
		case k < 85:
			g.entry(id, "Query", fmt.Sprintf("UPDATE accounts SET balance = balance + %d WHERE id = %d", rng.IntN(100), n))
		case k < 90:
			g.entry(id, "Query", fmt.Sprintf("SET SESSION sql_mode = '%s'", []string{"STRICT_TRANS_TABLES", "ANSI_QUOTES,STRICT_TRANS_TABLES"}[n%2]))
		case k < 93:
			g.entry(id, "Init DB", []string{"shop", "shop_archive"}[n%2])
			continue
		case k < 99:
			g.entry(id, "Query", fmt.Sprintf("select count(*) from order_items where order_id in (%d, %d, %d)", n, n+1, n+2))
		default:
			g.entry(id, "Quit", "")
			g.open[c] = false
			continue
		}
		statements++
	}
	if cw.err != nil {
		return cw.n, statements, fmt.Errorf("write generated log: %w", cw.err)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, statements, fmt.Errorf("write generated log: %w", err)
	}
	return cw.n, statements, nil
}

type gen struct {
	o        Options
	w        *countWriter
	rng      *rand.Rand
	now      time.Time
	lastSec  int64
	open     []bool
	ids      []uint64
	stampBuf []byte
}

func (g *gen) entry(id uint64, cmd, arg string) {
	g.now = g.now.Add(g.o.Gap)
	if g.o.Form == ISO {
		g.stampBuf = g.now.AppendFormat(g.stampBuf[:0], "2006-01-02T15:04:05.000000Z")
		fmt.Fprintf(g.w, "%s\t%6d %s\t%s\n", g.stampBuf, id, cmd, arg)
		return
	}
	if s := g.now.Unix(); s != g.lastSec {
		g.lastSec = s
		g.stampBuf = g.now.AppendFormat(g.stampBuf[:0], "060102 15:04:05")
		if g.stampBuf[7] == '0' { // MariaDB pads a one-digit hour with a space
			g.stampBuf[7] = ' '
		}
		fmt.Fprintf(g.w, "%s\t%6d %s\t%s\n", g.stampBuf, id, cmd, arg)
		return
	}
	fmt.Fprintf(g.w, "\t\t%6d %s\t%s\n", id, cmd, arg)
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
