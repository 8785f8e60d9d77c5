import express5 from 'express'
import express4 from 'express4'

/** Which Express major the suite runs against: 5 by default, 4 with `EXPRESS_MAJOR=4` (see `npm test`). */
export const EXPRESS_MAJOR: 4 | 5 = process.env.EXPRESS_MAJOR === '4' ? 4 : 5

/** The `express` module under test. Specs import it from here, never from 'express' directly. */
export const express: typeof express5 = EXPRESS_MAJOR === 4 ? express4 : express5
