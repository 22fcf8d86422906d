package notify

import "errors"

func asPermanent(err error, target **PermanentError) bool { return errors.As(err, target) }
