export interface UserPair {
  userLowId: number;
  userHighId: number;
}

/** The key of an unordered pair of users (a friendship row), whichever side acted first. */
export const pairOf = (a: number, b: number): UserPair =>
  a < b ? { userLowId: a, userHighId: b } : { userLowId: b, userHighId: a };
