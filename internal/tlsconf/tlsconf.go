// Package tlsconf builds the server TLS configuration of BentoML's
// api_server.ssl keys and --ssl-* flags, which carry the values of
// Python's ssl module, and maps them onto crypto/tls.
//
// What Go cannot honour is an error that says so: SSLv2/SSLv3 and the
// client-side protocol constants, OpenSSL cipher-string keywords (HIGH,
// !aNULL, ...) and TLS 1.3 suite names (Go does not let TLS 1.3 suites be
// chosen). Encrypted private keys are read in the two PEM forms OpenSSL
// writes: PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2 with PBKDF2 and AES-CBC or
// 3DES) and the legacy "Proc-Type: 4,ENCRYPTED" form.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Python ssl module constants.
const (
	protocolSSLv2     = 0
	protocolSSLv3     = 1
	protocolTLS       = 2
	protocolTLSv1     = 3
	protocolTLSv1_1   = 4
	protocolTLSv1_2   = 5
	protocolTLSClient = 16
	protocolTLSServer = 17

	certNone     = 0
	certOptional = 1
	certRequired = 2
)

// Options are the api_server.ssl values. The zero value of Version and
// CertReqs are Python's PROTOCOL_SSLv2 and CERT_NONE; use [Defaults] for
// BentoML's defaults.
type Options struct {
	Certfile        string // PEM certificate chain; it may hold the key too
	Keyfile         string // PEM private key; "" reads the key from Certfile
	KeyfilePassword string // password of an encrypted key
	CACerts         string // PEM CAs for client certificates
	Version         int    // Python ssl.PROTOCOL_*
	CertReqs        int    // Python ssl.CERT_*
	Ciphers         string // OpenSSL cipher list
	// GRPC applies BentoML's serve-grpc rule: a CA file alone turns on
	// mutual TLS (client certificates required).
	GRPC bool
}

// Defaults returns BentoML's defaults: PROTOCOL_TLS_SERVER, CERT_NONE,
// ciphers "TLSv1".
func Defaults() Options {
	return Options{Version: protocolTLSServer, CertReqs: certNone, Ciphers: "TLSv1"}
}

// Error is a problem with one api_server.ssl key.
type Error struct {
	Key string // e.g. "api_server.ssl.keyfile_password"
	Msg string
	Err error // the underlying error, if any
}

func (e *Error) Error() string {
	s := "config: " + e.Key + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func keyErr(key string, err error, format string, args ...any) error {
	return &Error{Key: "api_server.ssl." + key, Msg: fmt.Sprintf(format, args...), Err: err}
}

// ServerConfig returns the server TLS configuration for o, with nextProtos
// for ALPN ("h2" for gRPC; "h2", "http/1.1" for HTTP).
func ServerConfig(o Options, nextProtos ...string) (*tls.Config, error) {
	if o.Certfile == "" {
		return nil, keyErr("certfile", nil, "is required for TLS")
	}
	cfg := &tls.Config{NextProtos: nextProtos}
	if err := setVersion(cfg, o.Version); err != nil {
		return nil, err
	}
	suites, err := cipherSuites(o.Ciphers)
	if err != nil {
		return nil, err
	}
	cfg.CipherSuites = suites
	cert, err := loadCertificate(o)
	if err != nil {
		return nil, err
	}
	cfg.Certificates = []tls.Certificate{cert}
	if err := setClientAuth(cfg, o); err != nil {
		return nil, err
	}
	return cfg, nil
}

func setVersion(cfg *tls.Config, v int) error {
	switch v {
	case protocolTLS, protocolTLSServer:
		// Go's defaults: TLS 1.2 and 1.3.
	case protocolTLSv1:
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
	case protocolTLSv1_1:
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	case protocolTLSv1_2:
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case protocolSSLv2, protocolSSLv3:
		return keyErr("version", nil, "%d (PROTOCOL_SSLv%d) cannot be served: Go implements no SSL 2 or 3; use 17 (PROTOCOL_TLS_SERVER)", v, v+2)
	case protocolTLSClient:
		return keyErr("version", nil, "16 (PROTOCOL_TLS_CLIENT) is a client protocol; a server uses 17 (PROTOCOL_TLS_SERVER)")
	default:
		return keyErr("version", nil, "%d is not a Python ssl.PROTOCOL_* value Go can serve: use 17 (TLS_SERVER), 2 (TLS), 3 (TLSv1), 4 (TLSv1_1) or 5 (TLSv1_2)", v)
	}
	return nil
}

func setClientAuth(cfg *tls.Config, o Options) error {
	req := o.CertReqs
	if o.GRPC && o.CACerts != "" {
		req = certRequired
	}
	switch req {
	case certNone:
		return nil
	case certOptional:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case certRequired:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return keyErr("cert_reqs", nil, "must be 0 (CERT_NONE), 1 (CERT_OPTIONAL) or 2 (CERT_REQUIRED), got %d", req)
	}
	if o.CACerts == "" {
		return keyErr("cert_reqs", nil, "%d asks for client certificates, but api_server.ssl.ca_certs is not set: no client certificate could be verified", req)
	}
	pemData, err := os.ReadFile(o.CACerts)
	if err != nil {
		return keyErr("ca_certs", err, "cannot read the CA file")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return keyErr("ca_certs", nil, "%s holds no PEM certificate", o.CACerts)
	}
	cfg.ClientCAs = pool
	return nil
}

// loadCertificate reads the certificate chain and its private key,
// decrypting the key with KeyfilePassword when it is encrypted.
func loadCertificate(o Options) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(o.Certfile)
	if err != nil {
		return tls.Certificate{}, keyErr("certfile", err, "cannot read the certificate file")
	}
	keyFile, keyKey := o.Keyfile, "keyfile"
	keyPEM := certPEM
	if keyFile == "" {
		keyFile, keyKey = o.Certfile, "certfile"
	} else if keyPEM, err = os.ReadFile(keyFile); err != nil {
		return tls.Certificate{}, keyErr("keyfile", err, "cannot read the key file")
	}
	var certs []byte
	var keyBlock *pem.Block
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certs = append(certs, pem.EncodeToMemory(b)...)
		}
	}
	if len(certs) == 0 {
		return tls.Certificate{}, keyErr("certfile", nil, "%s holds no PEM certificate", o.Certfile)
	}
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			keyBlock = b
			break
		}
	}
	if keyBlock == nil {
		return tls.Certificate{}, keyErr(keyKey, nil, "%s holds no PEM private key", keyFile)
	}
	der, err := decryptKey(keyBlock, o.KeyfilePassword)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := parseKey(der)
	if err != nil {
		return tls.Certificate{}, keyErr(keyKey, err, "cannot parse the private key in %s", keyFile)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, keyErr(keyKey, err, "unsupported private key")
	}
	cert, err := tls.X509KeyPair(certs, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	if err != nil {
		return tls.Certificate{}, keyErr(keyKey, err, "the key in %s does not go with the certificate in %s", keyFile, o.Certfile)
	}
	return cert, nil
}

// errWrongPassword is returned when an encrypted key does not decrypt.
var errWrongPassword = errors.New("wrong password (OpenSSL: bad decrypt)")

// decryptKey returns the DER of a PEM private key block, decrypting it if
// needed.
func decryptKey(b *pem.Block, password string) ([]byte, error) {
	encrypted := b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] == "4,ENCRYPTED"
	if !encrypted {
		return b.Bytes, nil
	}
	if password == "" {
		return nil, keyErr("keyfile_password", nil, "the private key is encrypted: set api_server.ssl.keyfile_password (or --ssl-keyfile-password)")
	}
	var der []byte
	var err error
	if b.Type == "ENCRYPTED PRIVATE KEY" {
		der, err = decryptPKCS8(b.Bytes, []byte(password))
	} else {
		der, err = decryptLegacy(b, []byte(password))
	}
	if err != nil {
		return nil, keyErr("keyfile_password", err, "cannot decrypt the private key")
	}
	if _, perr := parseKey(der); perr != nil {
		return nil, keyErr("keyfile_password", errWrongPassword, "cannot decrypt the private key")
	}
	return der, nil
}

// decryptLegacy handles OpenSSL's traditional encrypted PEM. It is insecure
// by design (MD5 key derivation), which is why x509 deprecated it; reading
// existing BentoML deployments' keys is the only use here.
func decryptLegacy(b *pem.Block, password []byte) ([]byte, error) {
	//lint:ignore SA1019 reading legacy encrypted keys is the point
	der, err := x509.DecryptPEMBlock(b, password)
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, errWrongPassword
	}
	return der, err
}

func parseKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")
}
