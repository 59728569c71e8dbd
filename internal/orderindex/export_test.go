package orderindex

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
)

// ApplyIn queues Apply of o in p (benchmark seeding, 1000 orders a round trip).
func ApplyIn(ctx context.Context, x *Index, p redis.Pipeliner, o *model.Order) error {
	return x.apply(ctx, p, o)
}
