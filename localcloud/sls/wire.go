package sls

import (
	"strconv"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

var (
	zstdOnce sync.Once
	zstdDec  *zstd.Decoder
	zstdEnc  *zstd.Encoder
)

func zstdCodecs() (*zstd.Decoder, *zstd.Encoder) {
	zstdOnce.Do(func() {
		var err error
		zstdDec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxBody))
		if err != nil {
			panic("sls: zstd decoder: " + err.Error())
		}
		zstdEnc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			panic("sls: zstd encoder: " + err.Error())
		}
	})
	return zstdDec, zstdEnc
}

// decodeBody undoes x-log-compresstype: "" (none), "lz4" (raw block, no frame)
// or "zstd"; the result must be x-log-bodyrawsize bytes long.
func decodeBody(body []byte, kind, rawSize string) ([]byte, error) {
	n, err := strconv.Atoi(rawSize)
	if err != nil || n < 0 || n > maxBody {
		return nil, errf(400, "InvalidBodyRawSize", "x-log-bodyrawsize %q is invalid", rawSize)
	}
	var out []byte
	switch kind {
	case "", "none":
		out = body
	case "lz4":
		out = make([]byte, n)
		m, err := lz4.UncompressBlock(body, out)
		if err != nil {
			return nil, errf(400, "PostBodyUncompressError", "lz4 block: %v", err)
		}
		out = out[:m]
	case "zstd":
		dec, _ := zstdCodecs()
		out, err = dec.DecodeAll(body, make([]byte, 0, n))
		if err != nil {
			return nil, errf(400, "PostBodyUncompressError", "zstd: %v", err)
		}
	default:
		return nil, errf(400, "InvalidCompressType", "x-log-compresstype %s is unsupported (lz4, zstd or none)", kind)
	}
	if len(out) != n {
		return nil, errf(400, "InvalidBodyRawSize", "x-log-bodyrawsize %d does not match the %d bytes of the body", n, len(out))
	}
	return out, nil
}

// compressBody compresses a response as kind ("lz4" raw block or "zstd").
func compressBody(raw []byte, kind string) []byte {
	if kind == "zstd" {
		_, enc := zstdCodecs()
		return enc.EncodeAll(raw, nil)
	}
	out := make([]byte, lz4.CompressBlockBound(len(raw)))
	n, err := lz4.CompressBlock(raw, out, nil)
	if err != nil || n == 0 {
		return lz4Literals(raw)
	}
	return out[:n]
}

// lz4Literals encodes src as one literal-only lz4 block sequence, for data
// CompressBlock finds incompressible (it then returns 0).
func lz4Literals(src []byte) []byte {
	n := len(src)
	out := make([]byte, 0, n+n/255+16)
	if n < 15 {
		out = append(out, byte(n<<4))
	} else {
		out = append(out, 0xF0)
		l := n - 15
		for ; l >= 255; l -= 255 {
			out = append(out, 255)
		}
		out = append(out, byte(l))
	}
	return append(out, src...)
}
