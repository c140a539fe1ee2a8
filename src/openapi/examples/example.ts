/** One named example: Swagger UI lists it by its summary. */
export type Example = { summary: string; value: unknown }

export const ex = (summary: string, value: unknown): Example => ({ summary, value })
