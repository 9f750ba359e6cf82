-- An owner reads whether the store archived one of their orders. 0004 granted the portal's
-- columns of commerce_orders one by one, and 0006 added archived_at after it without a grant, so
-- the portal could not tell an order the merchant archived from a live one, and a select naming
-- the column was refused.
grant select (archived_at) on commerce_orders to authenticated;
