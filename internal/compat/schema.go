package compat

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// SchemaInfo is what the query checks need to know about the source's
// tables: column types (is this a DATE?) and single-column unique keys
// (does grouping by it determine the row?).
type SchemaInfo struct {
	cols map[colKey]colInfo
}

type colKey struct{ schema, table, column string }

type colInfo struct {
	dataType string
	unique   bool
}

// AddColumn records a column; names are case-insensitive.
func (s *SchemaInfo) AddColumn(schema, table, column, dataType string, unique bool) {
	if s.cols == nil {
		s.cols = map[colKey]colInfo{}
	}
	k := colKey{strings.ToLower(schema), strings.ToLower(table), strings.ToLower(column)}
	c := s.cols[k]
	if dataType != "" {
		c.dataType = strings.ToLower(dataType)
	}
	c.unique = c.unique || unique
	s.cols[k] = c
}

// ColumnType is the lower-case DATA_TYPE of the column, "" when unknown.
func (s *SchemaInfo) ColumnType(schema, table, column string) string {
	return s.cols[colKey{schema, table, column}].dataType
}

// Unique reports whether the column alone is a primary or unique key.
func (s *SchemaInfo) Unique(schema, table, column string) bool {
	return s.cols[colKey{schema, table, column}].unique
}

// LoadSchemaInfo reads column types and single-column unique keys of the
// schemas from information_schema.
func LoadSchemaInfo(ctx context.Context, db *sql.DB, schemas []string) (*SchemaInfo, error) {
	s := &SchemaInfo{cols: map[colKey]colInfo{}}
	if len(schemas) == 0 {
		return s, nil
	}
	in, args := inList("TABLE_SCHEMA", schemas)
	err := queryRows(ctx, db, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE "+in, args,
		func(r *sql.Rows) error {
			var schema, table, col, typ string
			if err := r.Scan(&schema, &table, &col, &typ); err != nil {
				return err
			}
			s.AddColumn(schema, table, col, typ, false)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading column types: %w", err)
	}
	// Unique indexes of exactly one column.
	err = queryRows(ctx, db, "SELECT TABLE_SCHEMA, TABLE_NAME, MIN(COLUMN_NAME) FROM information_schema.STATISTICS WHERE NON_UNIQUE = 0 AND "+in+
		" GROUP BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME HAVING COUNT(*) = 1", args,
		func(r *sql.Rows) error {
			var schema, table, col string
			if err := r.Scan(&schema, &table, &col); err != nil {
				return err
			}
			s.AddColumn(schema, table, col, "", true)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading unique keys: %w", err)
	}
	return s, nil
}

// queryRows runs a query and calls fn for each row.
func queryRows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// inList returns "col IN (?, ?, ...)" and its arguments; values are never
// spliced into SQL text.
func inList(col string, values []string) (string, []any) {
	if len(values) == 0 {
		return "1 = 0", nil
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return col + " IN (?" + strings.Repeat(", ?", len(values)-1) + ")", args
}
