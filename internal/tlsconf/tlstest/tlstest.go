// Package tlstest makes throw-away certificates for tests: a CA, a server
// certificate for 127.0.0.1 and localhost, and a client certificate, all
// signed by the CA and written as PEM files.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Files are the paths of the PEM files [Generate] writes, and the
// certificates in memory.
type Files struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
	// Combined holds the server certificate followed by its key.
	Combined string
	// CAPool trusts the CA; ClientPair is the client certificate.
	CAPool     *x509.CertPool
	ClientPair tls.Certificate
	// ServerKeyDER is the server key in PKCS#8 DER, for tests that encrypt it.
	ServerKeyDER []byte
}

// Generate writes a fresh CA, server and client certificate into dir.
func Generate(t testing.TB, dir string) Files {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gobento test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, server bool) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	srvDER, srvKey := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, true)
	cliDER, cliKey := issue(3, "client", x509.ExtKeyUsageClientAuth, false)
	f := Files{
		CA: filepath.Join(dir, "ca.pem"), ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"), Combined: filepath.Join(dir, "combined.pem"),
		CAPool: x509.NewCertPool(),
	}
	f.CAPool.AddCert(ca)
	f.ServerKeyDER = pkcs8(t, srvKey)
	write(t, f.CA, pemOf("CERTIFICATE", caDER))
	write(t, f.ServerCert, pemOf("CERTIFICATE", srvDER))
	write(t, f.ServerKey, pemOf("PRIVATE KEY", f.ServerKeyDER))
	write(t, f.Combined, append(pemOf("CERTIFICATE", srvDER), pemOf("PRIVATE KEY", f.ServerKeyDER)...))
	write(t, f.ClientCert, pemOf("CERTIFICATE", cliDER))
	write(t, f.ClientKey, pemOf("PRIVATE KEY", pkcs8(t, cliKey)))
	f.ClientPair, err = tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pkcs8(t testing.TB, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func write(t testing.TB, path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
