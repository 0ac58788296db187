"""The control-room console: room cards, live alert feed, acknowledge and silence, zh-CN and en."""
