import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  type Db as MongoDb,
  MongoClient,
  MongoClientClosedError,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { anyLink, isInstance, isSocketError, readProperty } from './errors.ts';

/**
 * Server error codes (numbers, unlike the driver's string codes) for a deployment that cannot
 * serve right now: a node shutting down, a primary stepping down or an election under way, a
 * host the server itself cannot reach. The driver retries these once; when the retry fails too,
 * the error reaches us. Names and values from the driver's MONGODB_ERROR_CODES
 * (node_modules/mongodb/lib/error.js), the retryable-reads/writes specifications' list.
 */
const UNAVAILABLE_SERVER_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

function isMongoUnavailableLink(value: unknown): boolean {
  // Socket closed, reset or timed out (MongoNetworkTimeoutError is a MongoNetworkError).
  if (isInstance(value, MongoNetworkError)) return true;
  // No server answered within serverSelectionTimeoutMS: MongoDB stopped, or its host name no
  // longer resolves (a stopped Compose service: ENOTFOUND / EAI_AGAIN in the cause).
  if (isInstance(value, MongoServerSelectionError)) return true;
  // The operation's `timeoutMS` ran out (client-side operation timeout).
  if (isInstance(value, MongoOperationTimeoutError)) return true;
  // The client or its topology was closed under a running request (the app shutting down).
  if (isInstance(value, MongoTopologyClosedError) || isInstance(value, MongoClientClosedError)) return true;
  if (isInstance(value, MongoServerError)) {
    const code = readProperty(value, 'code');
    return typeof code === 'number' && UNAVAILABLE_SERVER_CODES.has(code);
  }
  return isSocketError(value);
}

/**
 * True when an error means MongoDB is out of reach (answered 503), by driver class and code:
 * MongoNetworkError, MongoServerSelectionError, MongoOperationTimeoutError, a closed client or
 * topology, a MongoServerError with a "not serving now" code, a Node socket error (ENOTFOUND,
 * EAI_AGAIN, ECONNREFUSED, ...); anywhere in the cause chain. Any other MongoServerError (a
 * duplicate key, a bad query: numeric codes) is not an outage.
 */
export function isMongoUnavailable(error: unknown): boolean {
  return anyLink(error, isMongoUnavailableLink);
}

/** Longest a MongoDB operation (server selection included) may take. */
export const MONGO_TIMEOUT_MS = 2000;

/** The database named in the URL's path, `bigtech_chat` when it names none. */
export function databaseNameOf(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(url);
  return decodeURIComponent(match?.[1] ?? '') || 'bigtech_chat';
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The database of MONGODB_URL, null when MongoDB is not configured. */
    mongo: MongoDb | null;
  }
}

/**
 * MongoDB's client, when MONGODB_URL is set: one MongoClient per process (it connects on first
 * use), closed with the app; and which of the driver's errors mean "unavailable".
 */
async function mongodbPlugin(app: FastifyInstance): Promise<void> {
  app.treatAsUnavailable('mongodb', isMongoUnavailable);
  const url = app.config.MONGODB_URL;
  if (!url) {
    app.decorate('mongo', null);
    return;
  }
  // Every operation gives up after 2 s (as MySQL requests do), with MongoOperationTimeoutError,
  // answered as a 503, instead of holding requests while a mongod hangs.
  const client = new MongoClient(url, { serverSelectionTimeoutMS: MONGO_TIMEOUT_MS, timeoutMS: MONGO_TIMEOUT_MS });
  app.decorate('mongo', client.db(databaseNameOf(url)));
  app.addHook('onClose', async () => client.close());
}

export default fp(mongodbPlugin, { name: 'mongodb', dependencies: ['config', 'errors'] });
