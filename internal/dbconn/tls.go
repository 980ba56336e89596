package dbconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// TLS modes, named after MySQL's --ssl-mode and with its meaning.
const (
	// TLSDisabled: plaintext.
	TLSDisabled = "disabled"
	// TLSPreferred: TLS when the server offers it, else plaintext with a
	// warning naming the server. Nothing is verified: a man in the middle
	// can strip the offer or present any certificate.
	TLSPreferred = "preferred"
	// TLSRequired: TLS or no connection; the certificate is not verified,
	// so this defeats eavesdropping, not impersonation.
	TLSRequired = "required"
	// TLSVerifyCA: TLS, and the certificate chains to the CA (--tls-ca, or
	// the system pool); any name in it is accepted.
	TLSVerifyCA = "verify-ca"
	// TLSVerifyIdentity: as verify-ca, and the certificate names the host
	// dialed (DNS name or IP address).
	TLSVerifyIdentity = "verify-identity"
)

// TLSModes lists the modes, weakest first, for help texts.
func TLSModes() []string {
	return []string{TLSDisabled, TLSPreferred, TLSRequired, TLSVerifyCA, TLSVerifyIdentity}
}

// ParseTLSMode checks a mode name: "" means preferred, and "off" (the
// name before the verify modes existed) means disabled.
func ParseTLSMode(s string) (string, error) {
	switch s {
	case "":
		return TLSPreferred, nil
	case "off":
		return TLSDisabled, nil
	case TLSDisabled, TLSPreferred, TLSRequired, TLSVerifyCA, TLSVerifyIdentity:
		return s, nil
	}
	return "", fmt.Errorf("unknown TLS mode %q (%s)", s, strings.Join(TLSModes(), ", "))
}

// TLSVerifies says whether a mode checks the server's certificate.
func TLSVerifies(mode string) bool { return mode == TLSVerifyCA || mode == TLSVerifyIdentity }

// tlsConfig is the driver's TLS configuration for a mode; nil means
// plaintext, fallback that plaintext is accepted when the server offers no
// TLS.
func tlsConfig(mode, caFile, addr string) (cfg *tls.Config, fallback bool, err error) {
	switch mode {
	case TLSDisabled:
		return nil, false, nil
	case TLSPreferred, TLSRequired:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, mode == TLSPreferred, nil
	}
	pool, err := caPool(caFile)
	if err != nil {
		return nil, false, err
	}
	if mode == TLSVerifyIdentity {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		return &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}, false, nil
	}
	// verify-ca: crypto/tls verifies chain and name together, so the
	// chain is verified here and the name check is skipped.
	return &tls.Config{
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		},
	}, false, nil
}

func caPool(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("no --tls-ca given and the system CA pool is unavailable: %w", err)
		}
		return pool, nil
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading --tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// sessionEncrypted asks the server whether this session uses TLS: what
// was negotiated, not what was asked for.
func sessionEncrypted(ctx context.Context, db *sql.DB) (bool, error) {
	var name, cipher string
	if err := db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
		return false, fmt.Errorf("reading the session's TLS cipher: %w", err)
	}
	return cipher != "", nil
}

// describeTLS says what a TLS failure means for the operator: which mode,
// which CA, and that the server was not trusted or offered no TLS.
func describeTLS(err error, mode, caFile string) error {
	ca := "the system CA pool"
	if caFile != "" {
		ca = "--tls-ca " + caFile
	}
	if errors.Is(err, mysql.ErrNoTLS) {
		return fmt.Errorf("the server offers no TLS (or something between strips its offer) and --tls %s was given: configure ssl_cert/ssl_key on it, or accept plaintext with --tls preferred: %w", mode, err)
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &hostname):
		return fmt.Errorf("TLS certificate does not name the host dialed (--tls %s; its names: %s): %w", mode, certNames(hostname.Certificate), err)
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("TLS certificate not trusted: it does not verify against %s (--tls %s): %w", ca, mode, err)
	}
	return err
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "none"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "CN=" + c.Subject.CommonName
	}
	return strings.Join(names, ", ")
}

// WithTLS returns s with mode and caFile filled in where s names none: the
// caller's defaults (the global --tls and --tls-ca) under a spec's own.
func (s Spec) WithTLS(mode, caFile string) Spec {
	if s.TLS == "" {
		s.TLS = mode
	}
	if s.TLSCA == "" {
		s.TLSCA = caFile
	}
	return s
}
