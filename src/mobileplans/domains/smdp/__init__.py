"""The SM-DP+ domain: eSIM profile inventory, SGP.22 ES2+ functions, the device download
interface of ``docs/activation.md`` and the ES2+ ``handleDownloadProgressInfo`` callbacks."""
