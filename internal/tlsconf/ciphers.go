package tlsconf

import (
	"crypto/tls"
	"strings"
)

// openSSLNames maps OpenSSL's TLS 1.2 suite names to Go's.
var openSSLNames = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// cipherSuites maps an OpenSSL cipher list to Go suite ids; nil means Go's
// defaults. "TLSv1" (BentoML's default), "TLSv1.2", "DEFAULT" and "" keep
// the defaults. Otherwise every ':'- (or ',', ' ') separated entry must be
// an OpenSSL or IANA TLS 1.2 suite name.
func cipherSuites(list string) ([]uint16, error) {
	switch strings.TrimSpace(list) {
	case "", "TLSv1", "TLSv1.2", "DEFAULT":
		return nil, nil
	}
	byIANA := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		byIANA[s.Name] = s.ID
	}
	for _, s := range tls.InsecureCipherSuites() {
		byIANA[s.Name] = s.ID
	}
	var ids []uint16
	for _, name := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if id, ok := openSSLNames[name]; ok {
			ids = append(ids, id)
			continue
		}
		if id, ok := byIANA[name]; ok {
			if id>>8 == 0x13 { // TLS_AES_*, TLS_CHACHA20_*: TLS 1.3
				return nil, keyErr("ciphers", nil, "%s is a TLS 1.3 suite, which Go always enables and does not let be chosen; list TLS 1.2 suites only", name)
			}
			ids = append(ids, id)
			continue
		}
		if strings.HasPrefix(name, "TLS_AES_") || strings.HasPrefix(name, "TLS_CHACHA20_") {
			return nil, keyErr("ciphers", nil, "%s is a TLS 1.3 suite, which Go always enables and does not let be chosen; list TLS 1.2 suites only", name)
		}
		return nil, keyErr("ciphers", nil, "%q is not a TLS 1.2 cipher suite Go implements: Go cannot honour OpenSSL cipher-string keywords or operators (HIGH, !aNULL, @STRENGTH, ...); "+
			"list suite names such as ECDHE-RSA-AES128-GCM-SHA256, or use TLSv1 or DEFAULT for Go's defaults", name)
	}
	return ids, nil
}
