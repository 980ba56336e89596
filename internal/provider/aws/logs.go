package aws

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// logBase maps a log kind to the RDS MySQL/MariaDB file name; rotated files
// are "<base>.<hour>".
var logBase = map[string]string{
	"general": "general/mysql-general.log",
	"slow":    "slowquery/mysql-slowquery.log",
	"error":   "error/mysql-error.log",
}

type logFile struct {
	name        string
	lastWritten int64 // ms since epoch
	size        int64
}

// FetchLog writes the instance's log of kind (general, slow, error) to w,
// oldest file first, from the files written since `since` (zero: all).
//
// It reads the files themselves with DownloadDBLogFilePortion rather than
// CloudWatch Logs, which splits events over 256 KB and can reorder them.
// RDS rotates the current file every hour into <base>.<hour>; when that
// happens while the current file is being read, the rotated file holds what
// was read so far, so FetchLog continues in it after the bytes it already
// wrote, then reads the new current file: nothing is lost or doubled.
func (p *Provider) FetchLog(ctx context.Context, instanceID, kind string, since time.Time, w io.Writer) error {
	base, ok := logBase[kind]
	if !ok {
		return fmt.Errorf("fetching %s log of %s: unknown kind (want general, slow or error)", kind, instanceID)
	}
	done := map[string]int64{} // rotated file -> lastWritten when read
	files, err := p.listLogs(ctx, instanceID, base, since)
	if err != nil {
		return err
	}
	var current *logFile
	for i := range files {
		f := files[i]
		if f.name == base {
			current = &f
			continue
		}
		if _, err := p.downloadLog(ctx, instanceID, f.name, 0, w); err != nil {
			return err
		}
		done[f.name] = f.lastWritten
	}
	if current == nil {
		return nil
	}
	read, err := p.downloadLog(ctx, instanceID, base, 0, w)
	if err != nil {
		return err
	}
	for {
		files, err := p.listLogs(ctx, instanceID, base, since)
		if err != nil {
			return err
		}
		var rotated []logFile
		for _, f := range files {
			if lw, seen := done[f.name]; f.name != base && (!seen || lw != f.lastWritten) {
				rotated = append(rotated, f)
			}
		}
		if len(rotated) == 0 {
			return nil
		}
		// The oldest new rotated file is the current file we were reading.
		for k, f := range rotated {
			skip := int64(0)
			if k == 0 {
				skip = read
			}
			if _, err := p.downloadLog(ctx, instanceID, f.name, skip, w); err != nil {
				return err
			}
			done[f.name] = f.lastWritten
		}
		read = 0
		for _, f := range files {
			if f.name == base {
				if read, err = p.downloadLog(ctx, instanceID, base, 0, w); err != nil {
					return err
				}
			}
		}
	}
}

// listLogs returns the base file and its rotations, oldest first, the
// current file last.
func (p *Provider) listLogs(ctx context.Context, instanceID, base string, since time.Time) ([]logFile, error) {
	in := &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: awssdk.String(instanceID), FilenameContains: awssdk.String(base)}
	if !since.IsZero() {
		in.FileLastWritten = awssdk.Int64(since.UnixMilli())
	}
	var out []logFile
	pages := rds.NewDescribeDBLogFilesPaginator(p.rds, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing log files %s of %s: %w", base, instanceID, err)
		}
		for _, d := range page.DescribeDBLogFiles {
			name := awssdk.ToString(d.LogFileName)
			if name != base && !strings.HasPrefix(name, base+".") {
				continue
			}
			out = append(out, logFile{name: name, lastWritten: awssdk.ToInt64(d.LastWritten), size: awssdk.ToInt64(d.Size)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].name == base) != (out[j].name == base) {
			return out[j].name == base
		}
		return out[i].lastWritten < out[j].lastWritten
	})
	return out, nil
}

// downloadLog copies one file to w following the pagination markers,
// dropping its first skip bytes; it returns the bytes the file held.
func (p *Provider) downloadLog(ctx context.Context, instanceID, name string, skip int64, w io.Writer) (int64, error) {
	marker := "0"
	var n int64
	for {
		out, err := p.rds.DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
			DBInstanceIdentifier: awssdk.String(instanceID),
			LogFileName:          awssdk.String(name),
			Marker:               awssdk.String(marker),
		})
		if err != nil {
			return n, fmt.Errorf("downloading log %s of %s at marker %s: %w", name, instanceID, marker, err)
		}
		data := awssdk.ToString(out.LogFileData)
		chunk := data
		if skip > n {
			chunk = data[min(int64(len(data)), skip-n):]
		}
		if _, err := io.WriteString(w, chunk); err != nil {
			return n, fmt.Errorf("writing log %s of %s: %w", name, instanceID, err)
		}
		n += int64(len(data))
		next := awssdk.ToString(out.Marker)
		if !awssdk.ToBool(out.AdditionalDataPending) || next == "" || next == marker {
			return n, nil
		}
		marker = next
	}
}
