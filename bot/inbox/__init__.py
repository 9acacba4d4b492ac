"""The durable inbox: platform updates stored before they are acknowledged (`models`), and the
queue the workers claim them from (`queue`)."""
