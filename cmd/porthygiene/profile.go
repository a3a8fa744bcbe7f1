package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// aliyunConfig is the part of the aliyun CLI's configuration file
// (~/.aliyun/config.json, written by `aliyun configure`) that we read.
type aliyunConfig struct {
	Current  string          `json:"current"`
	Profiles []aliyunProfile `json:"profiles"`
}

type aliyunProfile struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	STSToken        string `json:"sts_token"`
	RegionID        string `json:"region_id"`
}

// withProfile returns env unchanged when the standard credential variables
// are set, or when the aliyun CLI has no configuration file. Otherwise it
// returns an env whose getenv answers ALIBABA_CLOUD_ACCESS_KEY_ID,
// ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN and (when
// unset) ALIBABA_CLOUD_REGION_ID from the CLI's profile: the one
// ALIBABA_CLOUD_PROFILE names, else the file's current profile. Only the AK
// and StsToken modes hold keys; any other mode is a usage error that says
// so. The file is $ALIBABA_CLOUD_CONFIG_FILE, else $HOME/.aliyun/config.json.
func withProfile(env *cliEnv) (*cliEnv, error) {
	if env.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID") != "" || env.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET") != "" {
		return env, nil
	}
	path := env.getenv("ALIBABA_CLOUD_CONFIG_FILE")
	if path == "" {
		home := env.getenv("HOME")
		if home == "" {
			return env, nil
		}
		path = filepath.Join(home, ".aliyun", "config.json")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return env, nil
	}
	if err != nil {
		return nil, usagef("read aliyun CLI profile: %w", err)
	}
	var cfg aliyunConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, usagef("%s: not an aliyun CLI configuration file: %v", path, err)
	}
	name := cmp.Or(env.getenv("ALIBABA_CLOUD_PROFILE"), cfg.Current, "default")
	var p *aliyunProfile
	for i := range cfg.Profiles {
		if cfg.Profiles[i].Name == name {
			p = &cfg.Profiles[i]
		}
	}
	if p == nil {
		return nil, usagef("%s: no profile %q", path, name)
	}
	switch strings.ToLower(p.Mode) {
	case "ak", "":
	case "ststoken":
	default:
		return nil, usagef("%s: profile %q uses mode %s; porthygiene reads only AK and StsToken profiles: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET instead",
			path, name, p.Mode)
	}
	if p.AccessKeyID == "" || p.AccessKeySecret == "" {
		return nil, usagef("%s: profile %q has no access_key_id / access_key_secret", path, name)
	}
	vals := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     p.AccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": p.AccessKeySecret,
		"ALIBABA_CLOUD_SECURITY_TOKEN":    p.STSToken,
	}
	if env.getenv("ALIBABA_CLOUD_REGION_ID") == "" {
		vals["ALIBABA_CLOUD_REGION_ID"] = p.RegionID
	}
	out := *env
	out.getenv = func(k string) string {
		if v, ok := vals[k]; ok {
			return v
		}
		return env.getenv(k)
	}
	return &out, nil
}

// registerAccount registers only the flags that name the account and region
// (--endpoints, --region), as cloudFlags.register words them, for commands
// that never read the ledger.
func (f *cloudFlags) registerAccount(fs *flag.FlagSet, regionUsage string) {
	all := flag.NewFlagSet("", flag.ContinueOnError)
	f.register(all)
	for _, name := range []string{"endpoints", "region"} {
		fl := all.Lookup(name)
		fs.Var(fl.Value, fl.Name, fl.Usage)
	}
	if regionUsage != "" {
		fs.Lookup("region").Usage = regionUsage
	}
}

// openRegions opens one connection per region of --region (comma-separated;
// empty: the default region of the environment, the profile or localcloud).
// Credentials come from --endpoints, the environment, or the aliyun CLI
// profile, in that order.
func (f *cloudFlags) openRegions(env *cliEnv, needLedger bool) ([]*conn, error) {
	if f.endpoints == "" {
		var err error
		if env, err = withProfile(env); err != nil {
			return nil, err
		}
	}
	var regions []string
	for _, r := range strings.Split(f.region, ",") {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
	}
	if len(regions) == 0 {
		regions = []string{""}
	}
	var conns []*conn
	for _, r := range regions {
		cf := *f
		cf.region = r
		c, err := cf.open(env, needLedger)
		if err != nil {
			if r != "" {
				return nil, fmt.Errorf("region %s: %w", r, err)
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}
