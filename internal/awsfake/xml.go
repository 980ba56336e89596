package awsfake

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// node is an XML element; answers are built as trees so element order
// follows the API reference's shapes.
type node struct {
	name  string
	attrs string
	text  *string
	kids  []*node
}

// el builds an element; nil children are skipped so optional members can be
// written inline.
func el(name string, kids ...*node) *node {
	n := &node{name: name}
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

func txt(name, v string) *node { return &node{name: name, text: &v} }

// opt is txt, but omitted when v is empty.
func opt(name, v string) *node {
	if v == "" {
		return nil
	}
	return txt(name, v)
}

func num(name string, v int) *node { return txt(name, strconv.Itoa(v)) }

func boolean(name string, v bool) *node { return txt(name, strconv.FormatBool(v)) }

// list wraps members: <Wrapper><Member>..</Member>...</Wrapper>.
func list(wrapper string, members []*node) *node {
	return el(wrapper, members...)
}

func (n *node) write(b *strings.Builder) {
	b.WriteString("<" + n.name + n.attrs + ">")
	if n.text != nil {
		_ = xml.EscapeText(escapeWriter{b}, []byte(*n.text))
	}
	for _, k := range n.kids {
		k.write(b)
	}
	b.WriteString("</" + n.name + ">")
}

type escapeWriter struct{ b *strings.Builder }

func (w escapeWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

func writeXML(w http.ResponseWriter, status int, root *node) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	root.write(&b)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func xmlns(n *node, ns string) *node {
	n.attrs = ` xmlns="` + ns + `"`
	return n
}
