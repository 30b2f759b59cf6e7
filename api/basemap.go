package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"gridmap/geo/chinacrs"
)

// Basemap is the basemap the operator gives the map UI by default (serve --basemap,
// --basemap-crs, --basemap-key, --basemap-attribution): what GET /api/v1/config answers. A
// user's own choice in the UI's settings (?basemap=) still wins, within --basemap-hosts.
type Basemap struct {
	// URL is an XYZ raster template ({z}, {x}, {y}) or a MapLibre style URL, with the
	// operator's key parameters already filled in.
	URL string `json:"url"`
	// CRS is the coordinate system the basemap is drawn in: "wgs84" (WGS 84 or CGCS2000, which
	// differ by centimetres: OpenStreetMap, Tianditu) or "gcj02" (AMap, Tencent), which the UI
	// shifts onto WGS 84.
	CRS string `json:"crs"`
	// Attribution is shown in the map's corner.
	Attribution string `json:"attribution,omitempty"`
}

// placeholder is a {name} in a template; z, x and y are MapLibre's.
var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// ParseBasemap reads the operator's basemap: template (an http(s) XYZ raster template or style
// URL; "" for none, which returns nil), its coordinate system (wgs84, cgcs2000 or gcj02, as
// chinacrs.Parse names them; "" is wgs84), keys ("tk=…,key=…": each fills the template's
// {tk}, {key}, …, so a provider key lives in the server's configuration only) and an
// attribution. It names what is wrong: a key the template does not use, a {name} no key
// fills, a GCJ-02 style URL (only raster tiles can be shifted), a BD-09 basemap (Baidu's
// tiles are not on the Web Mercator XYZ grid).
func ParseBasemap(template, crs, keys, attribution string) (*Basemap, error) {
	template = strings.TrimSpace(template)
	if template == "" {
		if keys != "" || crs != "" {
			return nil, errors.New("--basemap-crs and --basemap-key need a --basemap")
		}
		return nil, nil
	}
	b := &Basemap{CRS: "wgs84", Attribution: strings.TrimSpace(attribution)}
	if crs != "" {
		c, err := chinacrs.Parse(crs)
		if err != nil {
			return nil, fmt.Errorf("basemap crs: %w", err)
		}
		switch c {
		case chinacrs.WGS84, chinacrs.CRS84, chinacrs.CGCS2000:
		case chinacrs.GCJ02:
			b.CRS = "gcj02"
		default:
			return nil, fmt.Errorf("basemap crs %q: want wgs84 (also cgcs2000, Tianditu) or gcj02 (AMap, Tencent); Baidu's BD-09 tiles are not on the Web Mercator XYZ grid", crs)
		}
	}
	for _, kv := range strings.Split(keys, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || name == "z" || name == "x" || name == "y" || strings.ContainsAny(name, "{}") {
			return nil, fmt.Errorf("basemap key %q: want name=value, e.g. tk=0123abcd for Tianditu's {tk}", kv)
		}
		if !strings.Contains(template, "{"+name+"}") {
			return nil, fmt.Errorf("basemap key %q: the template has no {%s}", name, name)
		}
		template = strings.ReplaceAll(template, "{"+name+"}", url.QueryEscape(value))
	}
	xyz := 0
	for _, m := range placeholder.FindAllStringSubmatch(template, -1) {
		switch m[1] {
		case "z", "x", "y":
			xyz++
		default:
			return nil, fmt.Errorf("basemap template: no --basemap-key fills %s", m[0])
		}
	}
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(template))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("basemap %q: want an http(s) URL", template)
	}
	if b.CRS == "gcj02" && xyz < 3 {
		return nil, errors.New("a GCJ-02 basemap must be an XYZ raster template with {z}, {x} and {y}: only raster tiles are shifted onto WGS 84")
	}
	b.URL = template
	return b, nil
}

// Host is the CSP host-source of the basemap (scheme://host[:port]), which the server allows
// along with --basemap-hosts: configuring a basemap is allowing it.
func (b *Basemap) Host() string {
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(b.URL))
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// uiConfig is what GET /api/v1/config answers: the server's settings the map UI follows.
type uiConfig struct {
	Basemap *Basemap `json:"basemap"`
}

func (s *Server) config(w http.ResponseWriter, _ *http.Request) error {
	WriteJSON(w, http.StatusOK, uiConfig{Basemap: s.basemap})
	return nil
}
