package tlsconf

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobento/bento/internal/tlsconf/tlstest"
)

// encryptedKeys writes the server key encrypted with "secret" in the forms
// OpenSSL writes: the legacy Proc-Type form, and PKCS#8 PBES2 with AES-256
// and with 3DES (by the openssl command; skipped without it). It returns
// name → path.
func encryptedKeys(t *testing.T, dir string, f tlstest.Files) map[string]string {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(f.ServerKeyDER)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the legacy form is what old deployments have
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", sec1, []byte("secret"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"legacy": filepath.Join(dir, "legacy.pem")}
	if err := os.WriteFile(out["legacy"], pem.EncodeToMemory(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed: PKCS#8 encrypted keys not tested")
		return out
	}
	for name, v2 := range map[string]string{"pkcs8-aes256": "aes-256-cbc", "pkcs8-3des": "des3"} {
		p := filepath.Join(dir, name+".pem")
		cmd := exec.Command("openssl", "pkcs8", "-topk8", "-in", f.ServerKey, "-out", p, "-v2", v2, "-passout", "pass:secret")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl: %v\n%s", err, b)
		}
		out[name] = p
	}
	return out
}

type tlsCase struct {
	name  string
	opts  Options
	key   string // the api_server.ssl key the error names; "" means success
	msg   string
	errIs error
	check func(t *testing.T, c *tls.Config)
}

func TestServerConfig(t *testing.T) {
	dir := t.TempDir()
	f := tlstest.Generate(t, dir)
	enc := encryptedKeys(t, dir, f)
	base := func(mod func(o *Options)) Options {
		o := Defaults()
		o.Certfile, o.Keyfile = f.ServerCert, f.ServerKey
		if mod != nil {
			mod(&o)
		}
		return o
	}
	tests := []tlsCase{
		{name: "defaults", opts: base(nil), check: func(t *testing.T, c *tls.Config) {
			if c.MinVersion != 0 || c.CipherSuites != nil || c.ClientAuth != tls.NoClientCert {
				t.Errorf("config %+v", c)
			}
		}},
		{name: "key inside certfile", opts: base(func(o *Options) { o.Certfile, o.Keyfile = f.Combined, "" })},
		{name: "missing cert file", opts: base(func(o *Options) { o.Certfile = filepath.Join(dir, "nope.pem") }), key: "certfile", msg: "cannot read the certificate file", errIs: fs.ErrNotExist},
		{name: "missing key file", opts: base(func(o *Options) { o.Keyfile = filepath.Join(dir, "nope.pem") }), key: "keyfile", errIs: fs.ErrNotExist},
		{name: "key of another certificate", opts: base(func(o *Options) { o.Keyfile = f.ClientKey }), key: "keyfile", msg: "does not go with the certificate"},
		{name: "version TLSv1_2 pins 1.2", opts: base(func(o *Options) { o.Version = 5 }), check: func(t *testing.T, c *tls.Config) {
			if c.MinVersion != tls.VersionTLS12 || c.MaxVersion != tls.VersionTLS12 {
				t.Errorf("versions %x..%x", c.MinVersion, c.MaxVersion)
			}
		}},
		{name: "version SSLv3", opts: base(func(o *Options) { o.Version = 1 }), key: "version", msg: "Go implements no SSL 2 or 3"},
		{name: "version TLS_CLIENT", opts: base(func(o *Options) { o.Version = 16 }), key: "version", msg: "client protocol"},
		{name: "version unknown", opts: base(func(o *Options) { o.Version = 42 }), key: "version", msg: "not a Python ssl.PROTOCOL_* value"},
		{name: "cipher names", opts: base(func(o *Options) { o.Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" }), check: func(t *testing.T, c *tls.Config) {
			if len(c.CipherSuites) != 2 || c.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
				t.Errorf("suites %v", c.CipherSuites)
			}
		}},
		{name: "cipher keywords", opts: base(func(o *Options) { o.Ciphers = "HIGH:!aNULL" }), key: "ciphers", msg: "cannot honour OpenSSL cipher-string keywords"},
		{name: "TLS 1.3 suite", opts: base(func(o *Options) { o.Ciphers = "TLS_AES_128_GCM_SHA256" }), key: "ciphers", msg: "TLS 1.3"},
		{name: "cert_reqs without ca_certs", opts: base(func(o *Options) { o.CertReqs = 2 }), key: "cert_reqs", msg: "ca_certs is not set"},
		{name: "cert_reqs out of range", opts: base(func(o *Options) { o.CertReqs = 3; o.CACerts = f.CA }), key: "cert_reqs", msg: "must be 0"},
		{name: "missing CA file", opts: base(func(o *Options) { o.CertReqs = 2; o.CACerts = filepath.Join(dir, "nope.pem") }), key: "ca_certs", errIs: fs.ErrNotExist},
		{name: "required client certs", opts: base(func(o *Options) { o.CertReqs = 2; o.CACerts = f.CA }), check: func(t *testing.T, c *tls.Config) {
			if c.ClientAuth != tls.RequireAndVerifyClientCert || c.ClientCAs == nil {
				t.Errorf("client auth %v", c.ClientAuth)
			}
		}},
		{name: "optional client certs", opts: base(func(o *Options) { o.CertReqs = 1; o.CACerts = f.CA }), check: func(t *testing.T, c *tls.Config) {
			if c.ClientAuth != tls.VerifyClientCertIfGiven {
				t.Errorf("client auth %v", c.ClientAuth)
			}
		}},
		{name: "gRPC: a CA file means mutual TLS", opts: base(func(o *Options) { o.CACerts = f.CA; o.GRPC = true }), check: func(t *testing.T, c *tls.Config) {
			if c.ClientAuth != tls.RequireAndVerifyClientCert {
				t.Errorf("client auth %v", c.ClientAuth)
			}
		}},
	}
	for name, path := range enc {
		tests = append(tests,
			tlsCase{name: name + " key, right password", opts: base(func(o *Options) { o.Keyfile, o.KeyfilePassword = path, "secret" })},
			tlsCase{name: name + " key, wrong password", opts: base(func(o *Options) { o.Keyfile, o.KeyfilePassword = path, "guess" }), key: "keyfile_password", msg: "wrong password"},
			tlsCase{name: name + " key, no password", opts: base(func(o *Options) { o.Keyfile = path }), key: "keyfile_password", msg: "the private key is encrypted"},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ServerConfig(tt.opts, "h2", "http/1.1")
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Certificates) != 1 || !strings.Contains(strings.Join(c.NextProtos, ","), "h2") {
					t.Errorf("config %+v", c)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Key != "api_server.ssl."+tt.key || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want one on api_server.ssl.%s mentioning %q", err, tt.key, tt.msg)
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("error %v is not %v", err, tt.errIs)
			}
		})
	}
}
