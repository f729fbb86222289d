/** The inventory service's products: the SQL of `inventory.products`, for the service and `sagactl`. */
export * from "./products.ts";
