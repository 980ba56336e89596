//go:build !unix

package dbconn

import (
	"context"
	"net"
)

// DialSendOnRead is the plain dialer where raw socket calls are not
// available: the statement is sent by Write as usual.
func DialSendOnRead(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
