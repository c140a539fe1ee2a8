/** Two caller keys (shop, erp), an admin key (ops) and a webhook secret, and the environment that sets them. */
export const SHOP_KEY = 'shop-key-0123456789abcdef'
export const ERP_KEY = 'erp-key-0123456789abcdef0'
export const OPS_KEY = 'ops-key-0123456789abcdef'
export const WEBHOOK_SECRET = 'webhook-secret-0123456789'
export const TWO_CALLERS = { API_KEYS: `shop:${SHOP_KEY},erp:${ERP_KEY}`, ADMIN_API_KEYS: `ops:${OPS_KEY}`, WEBHOOK_SECRET }
