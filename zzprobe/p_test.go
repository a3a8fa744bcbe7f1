package probe
import (
 _ "github.com/aliyun/fc-runtime-go-sdk/fc"
 _ "github.com/aliyun/fc-runtime-go-sdk/events"
 _ "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
 _ "github.com/aliyun/aliyun-log-go-sdk"
 _ "github.com/aws/smithy-go/rand"
 _ "github.com/aws/smithy-go/ptr"
 _ "github.com/stretchr/testify/require"
 _ "gopkg.in/yaml.v3"
 _ "github.com/robfig/cron/v3"
 _ "github.com/pierrec/lz4/v4"
 _ "github.com/klauspost/compress/zstd"
 _ "github.com/gogo/protobuf/proto"
)
