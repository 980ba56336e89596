package main

import (
	"github.com/dbshift/dbshift/internal/compat"
	"github.com/dbshift/dbshift/internal/querylog"
)

// openLog reads the log with internal/querylog, as check-upgrade does.
func openLog(path string) (compat.QuerySource, func(), error) {
	r, err := querylog.Open(path, querylog.Auto)
	if err != nil {
		return nil, nil, err
	}
	return logSource{r}, func() { r.Close() }, nil
}

type logSource struct{ r *querylog.Reader }

func (s logSource) Next() (compat.Query, error) {
	ev, err := s.r.Next()
	if err != nil {
		return compat.Query{}, err
	}
	return compat.Query{Text: ev.Query, DB: ev.DB, ConnID: ev.ConnID, User: ev.User}, nil
}
