// Command querylog-parse measures how fast dbshift reads a general log, on a
// generated file, and runs pt-query-digest --type genlog on the same smaller
// file when it is installed, printing both figures side by side.
//
//	go run ./bench/querylog-parse -size 1G -pt-size 50M
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/querylog"
	"github.com/dbshift/dbshift/internal/querylog/genlog"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "where to write the generated logs (kept for reuse)")
	size := flag.String("size", "1G", "size of the main generated log")
	ptSize := flag.String("pt-size", "50M", "size of the log both dbshift and pt-query-digest read (0: skip)")
	form := flag.String("form", "iso", "general-log form: iso (MySQL 5.7+) or mariadb")
	flag.Parse()
	if err := run(*dir, *size, *ptSize, *form); err != nil {
		fmt.Fprintln(os.Stderr, "querylog-parse:", err)
		os.Exit(1)
	}
}

func run(dir, size, ptSize, form string) error {
	f := genlog.ISO
	if form == "mariadb" {
		f = genlog.MariaDB
	}
	n, err := parseSize(size)
	if err != nil {
		return err
	}
	big, err := ensureLog(dir, n, f)
	if err != nil {
		return err
	}
	mbps, cpuMBps, stmts, err := timeParse(big)
	if err != nil {
		return err
	}
	fmt.Printf("dbshift querylog  %-8s %s log: %8.1f MB/s wall, %8.1f MB per CPU-second (%d statements)\n", size, form, mbps, cpuMBps, stmts)
	if ptSize == "0" {
		return nil
	}
	pn, err := parseSize(ptSize)
	if err != nil {
		return err
	}
	small, err := ensureLog(dir, pn, f)
	if err != nil {
		return err
	}
	ours, oursCPU, _, err := timeParse(small)
	if err != nil {
		return err
	}
	fmt.Printf("dbshift querylog  %-8s %s log: %8.1f MB/s wall, %8.1f MB per CPU-second\n", ptSize, form, ours, oursCPU)
	pt, err := exec.LookPath("pt-query-digest")
	if err != nil {
		fmt.Println("pt-query-digest not installed (apt-get install percona-toolkit): comparison skipped")
		return nil
	}
	start := time.Now()
	cmd := exec.Command(pt, "--type", "genlog", "--limit", "1", small)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run pt-query-digest: %w", err)
	}
	theirs := float64(pn) / 1e6 / time.Since(start).Seconds()
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	theirsCPU := float64(pn) / 1e6 / cpu.Seconds()
	fmt.Printf("pt-query-digest   %-8s %s log: %8.1f MB/s wall, %8.1f MB per CPU-second (dbshift %.0fx faster wall, %.0fx per CPU-second)\n",
		ptSize, form, theirs, theirsCPU, ours/theirs, oursCPU/theirsCPU)
	return nil
}

// ensureLog reuses a generated log of that size and form, or writes it.
func ensureLog(dir string, size int64, form genlog.Form) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("dbshift-genlog-%d-%d.log", form, size))
	if st, err := os.Stat(path); err == nil && st.Size() >= size {
		return path, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("create generated log: %w", err)
	}
	if _, _, err := genlog.Write(f, genlog.Options{Size: size, Form: form}); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

func timeParse(path string) (mbps, cpuMBps float64, stmts int64, err error) {
	start := time.Now()
	cpu0 := selfCPU()
	r, err := querylog.Open(path, querylog.General)
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.Close()
	for {
		if _, err := r.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, 0, 0, err
		}
	}
	st := r.Stats()
	if st.Unparsed != 0 {
		return 0, 0, 0, fmt.Errorf("%d unparsed lines in %s", st.Unparsed, path)
	}
	mb := float64(st.Bytes) / 1e6
	return mb / time.Since(start).Seconds(), mb / (selfCPU() - cpu0).Seconds(), st.Events, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
