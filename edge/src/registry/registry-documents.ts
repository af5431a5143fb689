import {
  type ModelRecord,
  ModelRecordSchema,
  type ModelVersion,
  ModelVersionSchema,
  type VersionMetadata,
} from "@modelgate/shared";
import { parseStoredDocument, upgradeLegacyRecord } from "./legacy-record.js";

const MODEL_PREFIX = "registry/models/";
const modelKey = (name: string) => `${MODEL_PREFIX}${name}.json`;
const registrationKey = (name: string, version: number) => `registry/versions/${name}/${version}.json`;
const metadataKey = (name: string, version: number, revision: number) =>
  `registry/metadata/${name}/${version}/${revision}.json`;

export interface StoredRecord {
  record: ModelRecord;
  etag: string;
}

/** A metadata revision as kept in its own object: the audit trail of `PATCH`es. */
export interface MetadataRevision {
  name: string;
  version: number;
  revision: number;
  at: string;
  by: string;
  metadata: VersionMetadata;
}

/**
 * The registry's documents in R2, the source of truth:
 * - `registry/models/<name>.json`: the model's current state (versions, stages, aliases,
 *   policy, history), replaced with conditional puts (etag compare-and-swap);
 * - `registry/versions/<name>/<n>.json`: each version as registered, written once with
 *   `If-None-Match: *` so not even a bug can change it afterwards;
 * - `registry/metadata/<name>/<n>/<rev>.json`: every metadata revision.
 * A version's conversion state (`verification`, `converted_formats`, `serving_format`) lives in
 * the model document beside its stage: it arrives after registration, so the registration
 * document never carries it.
 */
export class RegistryDocuments {
  constructor(private readonly bucket: R2Bucket) {}

  async readModel(name: string): Promise<StoredRecord | undefined> {
    const object = await this.bucket.get(modelKey(name));
    if (!object) return undefined;
    const record = parseStoredDocument(ModelRecordSchema, upgradeLegacyRecord(await object.json()));
    return { record, etag: object.etag };
  }

  /** Conditional replace: false when someone else wrote since `etag` was read. */
  async writeModel(record: ModelRecord, etag: string | undefined): Promise<boolean> {
    const body = JSON.stringify(ModelRecordSchema.parse(record));
    const onlyIf = etag === undefined ? new Headers({ "if-none-match": "*" }) : { etagMatches: etag };
    const written = await this.bucket.put(modelKey(record.name), body, {
      onlyIf,
      httpMetadata: { contentType: "application/json" },
    });
    return written !== null;
  }

  async listModelNames(): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: MODEL_PREFIX, cursor, limit: 1000 });
      for (const object of page.objects) names.push(object.key.slice(MODEL_PREFIX.length, -".json".length));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return names;
  }

  /** Writes the registration once; a second write of the same number is refused by R2. */
  async putRegistration(version: ModelVersion): Promise<boolean> {
    const written = await this.bucket.put(
      registrationKey(version.name, version.version),
      JSON.stringify(ModelVersionSchema.parse(version)),
      { onlyIf: new Headers({ "if-none-match": "*" }), httpMetadata: { contentType: "application/json" } },
    );
    return written !== null;
  }

  async getRegistration(name: string, version: number): Promise<ModelVersion | undefined> {
    const object = await this.bucket.get(registrationKey(name, version));
    return object ? parseStoredDocument(ModelVersionSchema, await object.json()) : undefined;
  }

  /**
   * Revision objects are written before the model record that points at them; a revision
   * left behind by a failed record write is overwritten by the next attempt of that number.
   */
  async putMetadataRevision(revision: MetadataRevision): Promise<void> {
    await this.bucket.put(metadataKey(revision.name, revision.version, revision.revision), JSON.stringify(revision), {
      httpMetadata: { contentType: "application/json" },
    });
  }

  async getMetadataRevision(name: string, version: number, revision: number): Promise<MetadataRevision | undefined> {
    const object = await this.bucket.get(metadataKey(name, version, revision));
    return object ? ((await object.json()) as MetadataRevision) : undefined;
  }
}
