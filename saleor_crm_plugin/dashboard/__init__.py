"""CRM pages inside Saleor Dashboard: served by the plugin's `webhook()` (and by the sandbox at
the same paths), authenticated by the Dashboard's own token, reading our GraphQL API."""
