// tsyringe reads decorator metadata through this polyfill; import it once before any test.
import 'reflect-metadata';
